// Terminal-safe text, ages and sizes (see text_format.hpp).
#include "cli/text_format.hpp"

#include <cstdio>

namespace mailqd {

std::string format_age(std::int64_t seconds)
{
    if (seconds < 0) seconds = 0;
    if (seconds < 60) return std::to_string(seconds) + "s";
    if (seconds < 3600) return std::to_string(seconds / 60) + "m";
    if (seconds < 86400) return std::to_string(seconds / 3600) + "h";
    return std::to_string(seconds / 86400) + "d";
}

std::string format_size(std::uint64_t bytes)
{
    static constexpr const char* units = "KMGT";
    if (bytes < 1024) return std::to_string(bytes);
    double value = static_cast<double>(bytes) / 1024.0;
    int unit = 0;
    while (value >= 1024.0 && unit < 3) {
        value /= 1024.0;
        ++unit;
    }
    char buffer[32];
    if (value < 10.0)
        std::snprintf(buffer, sizeof buffer, "%.1f%c", value, units[unit]);
    else
        std::snprintf(buffer, sizeof buffer, "%.0f%c", value, units[unit]);
    return buffer;
}

std::string format_sender(std::string_view sender)
{
    if (sender.empty()) return "<>";
    return printable(sender);
}

std::string pad_right(std::string_view text, std::size_t width)
{
    std::size_t columns = 0;
    for (char c : text)
        if ((static_cast<unsigned char>(c) & 0xc0) != 0x80) ++columns;
    std::string out(text);
    if (columns < width) out.append(width - columns, ' ');
    return out;
}

}  // namespace mailqd
