// Helpers shared by the config unit tests.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "spool/config.hpp"

namespace mailqd::config_test {

namespace fs = std::filesystem;

// The repository root (tests/CMakeLists.txt defines it).
inline fs::path source_dir() { return MAILQD_SOURCE_DIR; }

inline std::vector<std::string> problem_lines(const ConfigLoad& load)
{
    std::vector<std::string> lines;
    for (const auto& p : load.problems) lines.push_back(p.to_string());
    return lines;
}

inline std::string read_file(const fs::path& path)
{
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A private directory under /tmp, removed with everything in it.
class TempDir {
public:
    TempDir()
    {
        static int n = 0;
        path_ = fs::temp_directory_path() /
                ("mailqd-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    fs::path write(const std::string& name, const std::string& text, mode_t mode)
    {
        auto file = path_ / name;
        std::ofstream(file) << text;
        ::chmod(file.c_str(), mode);
        return file;
    }

private:
    fs::path path_;
};

}  // namespace mailqd::config_test
