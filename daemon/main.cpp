// mailqd: the mail-queue daemon. Options and start-up are in daemon_main.cpp,
// the wiring and lifetime of every part in daemon.cpp.
#include "daemon/daemon.hpp"

int main(int argc, char** argv) { return mailqd::mailqd_main(argc, argv); }
