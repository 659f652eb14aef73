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

func newBenchCmd(g *globals) *cobra.Command {
	var only []string
	var quick, asJSON bool
	var cpuProfile string
	c := &cobra.Command{
		Use:   "bench",
		Short: "Measure the performance table: each figure next to its limit measured in the same run",
		Long: `Measure the performance table on loopback: each figure next to the limit it is measured
against in the same run, their ratio and the goal (docs/performance.md). Nodes run in this
process and, for resident memory and SIGTERM to exit, as child ` + "`node run`" + ` processes; all of
it lives in a temporary directory that is removed at the end.

Measurements (--only): ` + strings.Join(perf.Names(), ", ") + `.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := perf.Options{Sizes: perf.Full, Only: only, Progress: g.io.err}
			if quick {
				opts.Sizes = perf.Quick
			}
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			// A signal cancels the run: every node and child process is stopped and the
			// temporary directory removed before the command exits (1).
			sigs, unsubscribe := g.io.signals()
			defer unsubscribe()
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
			if err != nil {
				if strings.Contains(err.Error(), "unknown measurement") {
					return &usageError{fmt.Errorf("--only: %w", err)}
				}
				return err
			}
			if asJSON {
				return perf.WriteJSON(cmd.OutOrStdout(), results)
			}
			return perf.WriteTable(cmd.OutOrStdout(), results)
		},
	}
	c.Flags().StringSliceVar(&only, "only", nil, "run only these measurements (comma-separated)")
	c.Flags().BoolVar(&quick, "quick", false, "small sizes: the table's shape in seconds, not its figures")
	c.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON")
	c.Flags().StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (in-process nodes) to this file")
	return c
}
