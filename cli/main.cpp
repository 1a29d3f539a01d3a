// mailqctl, sendmail and mailq: one binary, the personality from argv[0].
#include "cli/cli_dispatch.hpp"

int main(int argc, char** argv) { return mailqd::run_cli(argc, argv); }
