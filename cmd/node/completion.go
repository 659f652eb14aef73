package main

import "github.com/spf13/cobra"

// setCompletion adds cobra's `completion bash|zsh|fish|powershell` command now (cobra would add it
// only inside Execute, after usageArgs has made unknown subcommands usage errors) and completes the
// values of the flags that take a fixed set.
func setCompletion(root *cobra.Command) {
	root.CompletionOptions.HiddenDefaultCmd = false
	root.InitDefaultCompletionCmd()
	fixed := func(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return values, cobra.ShellCompDirectiveNoFileComp
		}
	}
	_ = root.RegisterFlagCompletionFunc("log-level", fixed("debug", "info", "warn", "error"))
	_ = root.RegisterFlagCompletionFunc("log-format", fixed("text", "json"))
	_ = root.MarkPersistentFlagDirname("home")
	_ = root.MarkPersistentFlagFilename("config", "yaml", "yml")
}
