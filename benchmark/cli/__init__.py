"""The `dockbench` command line: every command and the options they share. Nothing outside this
package imports click; the rest of benchmark/ raises its own errors and this package words them."""

from dockbench.benchmark.cli.main import main

__all__ = ["main"]
