// libFuzzer target: the mailqd.conf parser (spool/config.cpp) on untrusted
// text. Files on disk are not looked at (check_files = false).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "spool/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string text(reinterpret_cast<const char*>(data), size);
    mailqd::ConfigLoadOptions options;
    options.check_files = false;
    mailqd::ConfigLoad load = mailqd::parse_config(text, "fuzz.conf", options);
    // A config comes back exactly when there is nothing to complain about.
    if (load.config.has_value() != load.problems.empty()) std::abort();
    for (const auto& problem : load.problems) problem.to_string();
    if (load.config && load.config->relays.empty()) std::abort();
    return 0;
}
