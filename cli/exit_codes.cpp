// Error -> exit code and the one-line message (see exit_codes.hpp).
#include "cli/exit_codes.hpp"

#include <iostream>

#include "cli/text_format.hpp"

namespace mailqd {

int exit_code(ErrorKind kind)
{
    // ErrorKind values are the sysexits codes already; the switch keeps a
    // new kind from silently becoming an odd number.
    switch (kind) {
        case ErrorKind::usage:
        case ErrorKind::bad_message:
        case ErrorKind::not_found:
        case ErrorKind::unavailable:
        case ErrorKind::io:
        case ErrorKind::temporary:
        case ErrorKind::permission:
        case ErrorKind::config: return static_cast<int>(kind);
        case ErrorKind::failure: break;
    }
    return 1;
}

void print_error(std::ostream& err, std::string_view program, const Error& error)
{
    // One line: newlines inside the message would split it.
    err << program << ": " << printable(error.message) << '\n';
    err.flush();
}

int report(std::string_view program, const Status& status)
{
    if (status.ok()) return 0;
    print_error(std::cerr, program, status.error());
    return exit_code(status.error().kind);
}

}  // namespace mailqd
