// See logging.hpp.
#include "daemon/logging.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <cstdlib>
#include <memory>

#include "spool/text_sanitize.hpp"

namespace mailqd {
namespace {

// "<3>" for error etc.: sd-daemon.h's SD_ERR.. prefixes, read by journald.
class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override
    {
        static constexpr char digits[] = {'7', '7', '6', '4', '3', '2', '6'};
        const auto level = static_cast<std::size_t>(msg.level);
        const char text[] = {'<', level < sizeof digits ? digits[level] : '6', '>'};
        dest.append(text, text + 3);
    }
    std::unique_ptr<custom_flag_formatter> clone() const override
    {
        return std::make_unique<SyslogPriorityFlag>();
    }
};

}  // namespace

void setup_logging()
{
    auto logger =
        std::make_shared<spdlog::logger>("mailqd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    auto formatter = std::make_unique<spdlog::pattern_formatter>();
    if (std::getenv("JOURNAL_STREAM") != nullptr)
        formatter->add_flag<SyslogPriorityFlag>('*').set_pattern("%*%v");
    else
        formatter->set_pattern("%Y-%m-%d %H:%M:%S.%e %l: %v");
    logger->set_formatter(std::move(formatter));
    logger->flush_on(spdlog::level::trace);  // stderr: every line at once
    spdlog::set_default_logger(std::move(logger));
}

Status set_log_level(const std::string& level)
{
    static const std::pair<const char*, spdlog::level::level_enum> levels[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug}, {"info", spdlog::level::info},
        {"warn", spdlog::level::warn},   {"error", spdlog::level::err},
    };
    for (const auto& [word, value] : levels) {
        if (level == word) {
            spdlog::set_level(value);
            return {};
        }
    }
    return make_error(ErrorKind::config, "unknown log level " + level);
}

// Addresses were validated by the doors; still keep control characters
// out of the log line.
std::string log_address(std::string_view address) { return "<" + printable(address) + ">"; }

std::string format_duration(std::chrono::seconds duration)
{
    const long long s = duration.count();
    if (s > 0 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
    if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
    if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
    return std::to_string(s) + "s";
}

std::string log_relay(const std::string& relay, const std::string& peer)
{
    if (peer.empty()) return relay;
    if (std::size_t bracket = peer.find('['); bracket != std::string::npos)
        return relay + peer.substr(bracket);
    std::size_t colon = peer.rfind(':');
    if (colon == std::string::npos) return relay + "[" + peer + "]";
    return relay + "[" + peer.substr(0, colon) + "]" + peer.substr(colon);
}

std::string log_quoted(std::string_view text)
{
    std::string out;
    const std::string safe = printable(text);
    out.reserve(safe.size());
    for (char c : safe) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out;
}

}  // namespace mailqd
