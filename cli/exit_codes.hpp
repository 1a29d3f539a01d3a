// The edge of mailqctl: the one place where an Error becomes an exit code
// (sysexits, DESIGN.md section 5) and one line on stderr,
// "mailqctl: what failed: why" ("sendmail: ..." in sendmail mode).
// Trusts nothing in the message text: it may carry a server's reply, so it
// is sanitised before it reaches a terminal.
#pragma once

#include <ostream>
#include <string_view>

#include "spool/result.hpp"

namespace mailqd {

// The sysexits code for a kind of failure (0 is never returned).
int exit_code(ErrorKind kind);

// Prints "PROGRAM: MESSAGE" as one sanitised line.
void print_error(std::ostream& err, std::string_view program, const Error& error);

// Prints the error on stderr and returns its exit code; 0 for a success.
int report(std::string_view program, const Status& status);

}  // namespace mailqd
