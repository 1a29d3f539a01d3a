// The queue's vocabulary: state words and the time format of the control
// protocol. Parses text from the control socket, so parse_time is strict and
// never throws.
#include "spool/queue_types.hpp"

#include <array>
#include <charconv>
#include <cstdio>
#include <utility>

namespace mailqd {

namespace {

using namespace std::chrono;

constexpr std::array<std::pair<RecipientState, std::string_view>, 5> state_words{{
    {RecipientState::queued, "queued"},
    {RecipientState::deferred, "deferred"},
    {RecipientState::held, "held"},
    {RecipientState::sent, "sent"},
    {RecipientState::failed, "failed"},
}};

// DESIGN.md section 5: a message's state is the first of these that any of
// its recipients is in.
constexpr std::array<RecipientState, 5> message_state_precedence{
    RecipientState::held, RecipientState::deferred, RecipientState::queued, RecipientState::failed,
    RecipientState::sent};

// Reads exactly text.size() decimal digits.
std::optional<int> digits(std::string_view text)
{
    int value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    for (char c : text)
        if (c < '0' || c > '9') return std::nullopt;
    return value;
}

}  // namespace

std::string_view to_string(RecipientState state)
{
    for (const auto& [s, word] : state_words)
        if (s == state) return word;
    return "unknown";
}

std::optional<RecipientState> recipient_state_from(std::string_view word)
{
    for (const auto& [s, w] : state_words)
        if (w == word) return s;
    return std::nullopt;
}

bool is_done(RecipientState state)
{
    return state == RecipientState::sent || state == RecipientState::failed;
}

RecipientState message_state(const std::vector<RecipientState>& recipients)
{
    for (RecipientState candidate : message_state_precedence)
        for (RecipientState s : recipients)
            if (s == candidate) return candidate;
    // A message always has recipients; an empty list has nothing left to do.
    return RecipientState::sent;
}

RecipientState MessageInfo::state() const
{
    std::vector<RecipientState> states;
    states.reserve(recipients.size());
    for (const auto& r : recipients) states.push_back(r.state);
    return message_state(states);
}

std::string format_time(TimePoint t)
{
    const auto day = floor<days>(t);
    const year_month_day ymd{day};
    const hh_mm_ss hms{t - day};
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                  static_cast<int>(hms.seconds().count()));
    return buf;
}

// Accepts exactly the form format_time writes: "YYYY-MM-DDTHH:MM:SSZ".
std::optional<TimePoint> parse_time(std::string_view text)
{
    if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
        text[16] != ':' || text[19] != 'Z')
        return std::nullopt;
    auto y = digits(text.substr(0, 4)), mo = digits(text.substr(5, 2)), d = digits(text.substr(8, 2));
    auto h = digits(text.substr(11, 2)), mi = digits(text.substr(14, 2)), s = digits(text.substr(17, 2));
    if (!y || !mo || !d || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
    const year_month_day ymd{year(*y), month(static_cast<unsigned>(*mo)), day(static_cast<unsigned>(*d))};
    if (!ymd.ok()) return std::nullopt;
    return TimePoint{sys_days(ymd).time_since_epoch() + hours(*h) + minutes(*mi) + seconds(*s)};
}

}  // namespace mailqd
