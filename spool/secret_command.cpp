// See secret_command.hpp.
//
// The daemon's sockets (Asio's) are not close-on-exec, so the child closes
// every descriptor but 0, 1 and 2 itself; otherwise the command, and anything
// it leaves running, would hold the listening sockets past a restart. The
// child leads a process group of its own, and that group is killed once the
// command has exited or at the deadline, so a helper's background children
// cannot keep the pipe open, or outlive it holding anything else.
#include "spool/secret_command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "spool/unique_fd.hpp"

extern char** environ;

namespace mailqd {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Error command_error(std::string message)
{
    return make_error(ErrorKind::config, "password_command: " + std::move(message));
}

std::string errno_text(int err) { return std::strerror(err); }

// "30s", or "250ms" for the short deadlines of tests.
std::string duration_text(milliseconds d)
{
    return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + "s" : std::to_string(d.count()) + "ms";
}

// A descriptor that becomes readable when pid exits, or -1 (Linux before
// 5.3, a seccomp filter). By syscall: glibc 2.36's <sys/pidfd.h> declares
// pidfd_open without extern "C".
int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// The started shell: the leader of its own process group, and not reaped
// until the group has been killed (while the leader is unreaped, its pid, and
// so the group's id, cannot be reused). Killed and reaped on every path.
class Child {
public:
    explicit Child(pid_t pid) : pid_(pid), pidfd_(open_pidfd(pid)) {}
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() { (void)reap(); }

    // Readable once the shell has exited; -1 where the kernel has no pidfd.
    int pidfd() const { return pidfd_.get(); }

    // Whether the shell has exited, without reaping it. (An error, which
    // only a SIGCHLD set to SIG_IGN would cause, counts as exited: reap()
    // reports it.)
    bool exited() const
    {
        siginfo_t info{};
        int r = ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
        return r == 0 ? info.si_pid == pid_ : errno != EINTR;
    }

    // Kills what is left of the group, then reaps the shell (at once: it
    // has exited or has just been sent SIGKILL). Returns its wait status,
    // or the error of waitpid.
    Result<int> reap()
    {
        if (!reaped_) {
            reaped_ = true;
            ::kill(-pid_, SIGKILL);
            int r;
            while ((r = ::waitpid(pid_, &status_, 0)) < 0 && errno == EINTR) {}
            wait_error_ = r < 0 ? errno : 0;
        }
        if (wait_error_) return command_error("waitpid: " + errno_text(wait_error_));
        return status_;
    }

private:
    pid_t pid_;
    UniqueFd pidfd_;
    bool reaped_ = false;
    int status_ = 0;
    int wait_error_ = 0;
};

// /bin/sh -c command with stdin /dev/null, stdout the pipe's write end,
// stderr the daemon's, nothing else open, in a new process group and with no
// signal blocked (the calling thread may block some).
Result<pid_t> spawn_shell(const std::string& command, int stdout_fd)
{
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    if (int err = posix_spawn_file_actions_init(&actions)) return command_error("spawn: " + errno_text(err));
    if (int err = posix_spawnattr_init(&attr)) {
        posix_spawn_file_actions_destroy(&actions);
        return command_error("spawn: " + errno_text(err));
    }
    sigset_t no_signals;
    sigemptyset(&no_signals);
    int err = posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    if (!err) err = posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    if (!err) err = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (!err) err = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    if (!err) err = posix_spawnattr_setpgroup(&attr, 0);
    if (!err) err = posix_spawnattr_setsigmask(&attr, &no_signals);
    std::string shell = "/bin/sh", dash_c = "-c", cmd = command;
    char* argv[] = {shell.data(), dash_c.data(), cmd.data(), nullptr};
    pid_t pid = -1;
    if (!err) err = ::posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    if (err) return command_error("cannot start /bin/sh: " + errno_text(err));
    return pid;
}

constexpr std::size_t max_output = 64 * 1024;  // OAuth2 tokens are a few KiB

enum class Read { data, empty, eof, too_long, failed };

// One read from the pipe into out, which may hold max_output bytes in all.
Read read_some(int fd, std::string& out)
{
    char buf[4096];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) return errno == EINTR ? Read::data : errno == EAGAIN ? Read::empty : Read::failed;
    if (n == 0) return Read::eof;
    if (out.size() + static_cast<std::size_t>(n) > max_output) return Read::too_long;
    out.append(buf, static_cast<std::size_t>(n));
    return Read::data;
}

enum class Waited { exited, timed_out, too_long, failed };
struct Collected {
    Waited how = Waited::exited;
    int err = 0;  // with failed
};

// Collects the shell's output until it exits or the deadline passes. The
// pipe's EOF does not end the wait (a command may close its stdout and run
// on), nor does the pipe staying open once the shell has exited (a
// background child may hold it).
Collected collect(const Child& child, int pipe_fd, Clock::time_point deadline, std::string& out)
{
    bool pipe_open = true;
    for (;;) {
        if (child.exited()) return {};
        auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return {Waited::timed_out};
        // Without a pidfd (an old kernel, a seccomp filter), look again every 50 ms.
        if (child.pidfd() < 0) left = std::min(left, milliseconds(50));
        pollfd fds[2];
        nfds_t count = 0;
        if (pipe_open) fds[count++] = pollfd{pipe_fd, POLLIN, 0};
        if (child.pidfd() >= 0) fds[count++] = pollfd{child.pidfd(), POLLIN, 0};
        int ready = ::poll(fds, count, static_cast<int>(left.count()));
        if (ready < 0 && errno != EINTR) return {Waited::failed, errno};
        if (ready <= 0 || !pipe_open || fds[0].revents == 0) continue;
        switch (read_some(pipe_fd, out)) {
            case Read::data:
            case Read::empty: break;
            case Read::eof: pipe_open = false; break;
            case Read::too_long: return {Waited::too_long};
            case Read::failed: return {Waited::failed, errno};
        }
    }
}

// What the shell wrote before it exited and is still in the pipe. Does not
// wait: a background child may still hold the write end.
Collected drain(int pipe_fd, std::string& out)
{
    int flags = ::fcntl(pipe_fd, F_GETFL);
    if (flags < 0 || ::fcntl(pipe_fd, F_SETFL, flags | O_NONBLOCK) != 0) return {Waited::failed, errno};
    for (;;) {
        switch (read_some(pipe_fd, out)) {
            case Read::data: break;
            case Read::empty:
            case Read::eof: return {};
            case Read::too_long: return {Waited::too_long};
            case Read::failed: return {Waited::failed, errno};
        }
    }
}

}  // namespace

Result<std::string> run_secret_command(const std::string& command, milliseconds timeout)
{
    auto deadline = Clock::now() + timeout;
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return command_error("pipe: " + errno_text(errno));
    UniqueFd read_end{pipe_fds[0]};
    UniqueFd write_end{pipe_fds[1]};
    Result<pid_t> pid = spawn_shell(command, write_end.get());
    if (!pid) return pid.error();
    write_end.reset();

    Child child(*pid);
    std::string out;
    Collected got = collect(child, read_end.get(), deadline, out);
    Result<int> reaped = child.reap();  // kills the group first
    if (got.how == Waited::exited) got = drain(read_end.get(), out);
    switch (got.how) {
        case Waited::exited: break;
        case Waited::timed_out:
            return command_error("did not exit within " + duration_text(timeout) +
                                 "; its process group was killed");
        case Waited::too_long:
            return command_error("output longer than " + std::to_string(max_output / 1024) +
                                 " KiB; its process group was killed");
        case Waited::failed: return command_error("reading its output: " + errno_text(got.err));
    }
    if (!reaped) return reaped.error();
    int status = *reaped;
    if (WIFSIGNALED(status)) return command_error("killed by signal " + std::to_string(WTERMSIG(status)));
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return command_error("exited with status " + std::to_string(WEXITSTATUS(status)));
    return out;
}

}  // namespace mailqd
