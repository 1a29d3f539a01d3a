// Result types for the boundaries between components: an expected outcome
// (a bad message, a full disk, an unknown ID) travels as a value with its
// context, and is turned into an exit code or an SMTP reply only at the edge.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace mailqd {

// What kind of failure, so the edges can map it: sysexits in mailqctl,
// 4xx/5xx in the submit server. Values are the sysexits codes.
enum class ErrorKind {
    failure = 1,       // anything else
    usage = 64,        // EX_USAGE
    bad_message = 65,  // EX_DATAERR: no recipients, bad header
    not_found = 67,    // EX_NOUSER: unknown queue ID or mailbox
    unavailable = 69,  // EX_UNAVAILABLE: the daemon is not there
    io = 74,           // EX_IOERR
    temporary = 75,    // EX_TEMPFAIL: full disk, try again
    permission = 77,   // EX_NOPERM
    config = 78,       // EX_CONFIG
};

struct Error {
    ErrorKind kind = ErrorKind::failure;
    std::string message;

    // "what: message", for context added as the error travels up.
    [[nodiscard]] Error context(std::string_view what) const
    {
        return Error{kind, std::string(what) + ": " + message};
    }
};

inline Error make_error(ErrorKind kind, std::string message) { return Error{kind, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::move(value)) {}
    Result(Error error) : v_(std::move(error)) {}

    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value()
    {
        assert(ok());
        return std::get<0>(v_);
    }
    const T& value() const
    {
        assert(ok());
        return std::get<0>(v_);
    }
    T& operator*() { return value(); }
    const T& operator*() const { return value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const
    {
        assert(!ok());
        return std::get<1>(v_);
    }

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}

    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const
    {
        assert(!ok_);
        return error_;
    }

private:
    Error error_;
    bool ok_ = true;
};

using Status = Result<void>;

}  // namespace mailqd
