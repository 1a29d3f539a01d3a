// The sendmail personality: the flags programs really pass to
// /usr/sbin/sendmail (cron, mailx, PHP, git send-email, logwatch), parsed
// getopt-style as sendmail does ("-FCronDaemon", "-f a@b", "-ti", "-oi").
// Harmless flags are accepted and ignored, as msmtp and nullmailer do; flags
// whose meaning cannot be honoured (-bd, -bi, unknown letters) are usage
// errors rather than silently doing something else.
// -N, -R and -V are the DSN parameters of RFC 3461 (a bad value is a usage
// error, as is a -B other than 7BIT or 8BITMIME); every -oX but -oi, and -v,
// mean nothing here and are ignored, as Postfix does.
#pragma once

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "spool/dsn_params.hpp"
#include "spool/result.hpp"

namespace mailqd {

struct SendmailOptions {
    enum class Mode { send, list, retry, smtp };  // -bm (default), -bp, -q, -bs
    Mode mode = Mode::send;
    bool extract_recipients = false;              // -t
    bool ignore_dots = false;                     // -i, -oi
    std::optional<std::string> sender;            // -f A, -r A
    std::string full_name;                        // -F NAME
    std::optional<std::filesystem::path> config;  // -C FILE (Postfix's spelling)
    DsnNotify notify;                             // -N never|success,failure,delay: every recipient's
    MessageDsn dsn;                               // -R full|hdrs, -V envid
    std::vector<std::string> recipients;
};

Result<SendmailOptions> parse_sendmail_args(const std::vector<std::string>& args);

// Parses, then lists (-bp), retries (-q) or submits stdin. Prints nothing on
// success, as sendmail does.
Status run_sendmail(const std::vector<std::string>& args, std::istream& in, std::ostream& out);

}  // namespace mailqd
