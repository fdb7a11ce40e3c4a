"""The exit codes every dockbench command shares (`dockbench --help` spells them out)."""

OK = 0
FINDINGS = 1      # a check FAILed (or, per --fail-on, could not be decided) unwaived; diff/reevaluate: newly failing; verify: altered; waivers check: expired
CANNOT_RUN = 2    # unreadable input, or the scan could not run at all (click's usage errors exit 2 too)
HOSTS_MISSED = 4  # added to OK or FINDINGS: a sweep could not audit some hosts
