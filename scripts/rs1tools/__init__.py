"""Developer and ops tools for RS-1 Cloud: the local stack launcher, demo, benchmarks, CLIs."""
