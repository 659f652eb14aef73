package main

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorchain/actorchain/perf"
)

// benchOptions are the flags of `node bench`.
type benchOptions struct {
	only          []string
	quick, asJSON bool
	cpuProfile    string
}

func newBenchCmd(g *globals) *cobra.Command {
	o := &benchOptions{}
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure the performance table: each figure next to its limit measured in the same run",
		Long: `Measure the performance table on loopback: each figure next to the limit it is measured
against in the same run, their ratio and the goal (docs/performance.md). Nodes run in this
process and, for resident memory, SIGTERM to exit, the address flood and the user rows, as child
` + "`node run`" + ` processes of this executable; the user rows also run its ` + "`node tx send --count`" + `
load generator and ` + "`node peers add`" + ` as processes, as a user does. All of it lives in a
temporary directory that is removed at the end.

Measurements (--only): ` + strings.Join(perf.Names(), ", ") + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return g.runBench(cmd, o) },
	}
	c.Flags().StringSliceVar(&o.only, "only", nil, "run only these measurements (comma-separated)")
	c.Flags().BoolVar(&o.quick, "quick", false, "small sizes: the table's shape in seconds, not its figures")
	c.Flags().BoolVar(&o.asJSON, "json", false, "print the results as JSON")
	c.Flags().StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (in-process nodes) to this file")
	return c
}

func (g *globals) runBench(cmd *cobra.Command, o *benchOptions) error {
	opts := perf.Options{Sizes: perf.Full, Only: o.only, Progress: g.io.err}
	if o.quick {
		opts.Sizes = perf.Quick
	}
	stopProfile, err := startCPUProfile(o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	// A signal cancels the run: every node and child process is stopped and the
	// temporary directory removed before the command exits (1).
	sigs, unsubscribe := g.io.signals()
	defer unsubscribe()
	results, err := g.runPerf(sigs, opts)
	if err != nil {
		if strings.Contains(err.Error(), "unknown measurement") {
			return &usageError{fmt.Errorf("--only: %w", err)}
		}
		return err
	}
	if o.asJSON {
		return perf.WriteJSON(cmd.OutOrStdout(), results)
	}
	return perf.WriteTable(cmd.OutOrStdout(), results)
}

// startCPUProfile starts a CPU profile written to path ("": none); stop ends it and closes the
// file.
func startCPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}, nil
}

// runPerf runs the measurements of opts; a signal on sigs cancels the run, saying so.
func (g *globals) runPerf(sigs <-chan os.Signal, opts perf.Options) ([]perf.Result, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	watched := make(chan struct{})
	go func() { // joined: it ends when the run ends (cancel) or a signal arrives
		defer close(watched)
		select {
		case s := <-sigs:
			fmt.Fprintf(g.io.err, "node: %s: cancelling the benchmark run\n", s)
			cancel()
		case <-ctx.Done():
		}
	}()
	results, err := perf.Run(ctx, opts)
	cancel()
	<-watched
	return results, err
}
