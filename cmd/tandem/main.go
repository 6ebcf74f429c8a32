// Command tandem is a keepalived-compatible high-availability director
// whose nodes form a cluster. Run "tandem --help" for its commands.
package main

import (
	"errors"
	"fmt"
	"os"
)

func main() {
	root := newRootCmd(os.Stdout, os.Stderr)
	if err := root.Execute(); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "tandem:", ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(1)
	}
}

// exitError ends the program with a specific status; msg may be empty
// when the command already printed what went wrong.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string {
	if e.msg == "" {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.msg
}
