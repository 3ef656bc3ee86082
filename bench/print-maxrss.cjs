// Loaded with --require into a measured command: prints its peak RSS (kB) to stderr on exit.
process.on('exit', () => process.stderr.write(`\nmaxrss-kb ${process.resourceUsage().maxRSS}\n`))
