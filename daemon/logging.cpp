// See logging.hpp.
#include "daemon/logging.hpp"

#include <cstdlib>
#include <memory>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace mailqd {
namespace {

// "<3>" for error etc.: sd-daemon.h's SD_ERR.. prefixes, read by journald.
class SyslogPriorityFlag : public spdlog::custom_flag_formatter {
public:
    void format(const spdlog::details::log_msg& msg, const std::tm&,
                spdlog::memory_buf_t& dest) override
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
    auto logger = std::make_shared<spdlog::logger>(
        "mailqd", std::make_shared<spdlog::sinks::stderr_sink_mt>());
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
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},
    };
    for (const auto& [word, value] : levels) {
        if (level == word) {
            spdlog::set_level(value);
            return {};
        }
    }
    return make_error(ErrorKind::config, "unknown log level " + level);
}

}  // namespace mailqd
