// mailqd: the mail-queue daemon. Everything is in daemon/daemon.cpp.
#include "daemon/daemon.hpp"

int main(int argc, char** argv) { return mailqd::mailqd_main(argc, argv); }
