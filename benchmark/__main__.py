from dockbench.benchmark.cli import main

main()
