// The entry point of the mailqctl binary in all its personalities: picks the
// personality from argv[0], parses the global options, runs one command from
// the table and turns its Status into an exit code.
#pragma once

namespace mailqd {

int run_cli(int argc, char** argv);

}  // namespace mailqd
