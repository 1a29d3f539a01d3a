// libFuzzer target: the submit door's DATA decoder (spool/smtp_data.cpp) on
// client bytes, fed in pieces whose sizes the first input byte chooses. The
// decoded text is CRLF-clean, consumption stops right after the end marker,
// a piece size changes nothing, and a message's wire form decodes back to
// the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "spool/message.hpp"
#include "spool/smtp_data.hpp"

namespace {

std::size_t decode(std::string_view input, bool crlf, std::size_t step, std::string& out, bool& done)
{
    mailqd::DataDecoder decoder(crlf);
    std::size_t consumed = 0;
    while (consumed < input.size() && !decoder.done()) {
        const std::size_t used = decoder.feed(input.substr(consumed, step), &out);
        if (used == 0 || used > step) std::abort();  // always progress, never past the piece
        consumed += used;
    }
    done = decoder.done();
    return consumed;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    if (size == 0) return 0;
    const std::size_t step = 1 + data[0] % 17;
    const bool crlf = data[0] & 0x80;
    std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::string out;
    bool done = false;
    const std::size_t consumed = decode(input, crlf, step, out, done);
    if (done && (consumed < 2 || input[consumed - 1] != '\n')) std::abort();
    // Once the end is found every line has its CRLF (before, the last may
    // still be on its way).
    if (done && !mailqd::is_crlf_normal(out)) std::abort();
    // The same bytes in one piece decode the same.
    std::string whole;
    bool whole_done = false;
    if (decode(input, crlf, input.size() + 1, whole, whole_done) != consumed || whole != out ||
        whole_done != done)
        std::abort();
    if (!done) return 0;
    // What the relay side would send of this text ends exactly at its end.
    const std::string wire = mailqd::to_wire_data(out);
    std::string again;
    bool again_done = false;
    if (decode(wire, true, step, again, again_done) != wire.size() || !again_done || again != out)
        std::abort();
    return 0;
}
