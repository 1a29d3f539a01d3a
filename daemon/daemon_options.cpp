// See daemon_options.hpp.
#include "daemon/daemon_options.hpp"

#include <boost/program_options.hpp>
#include <iostream>

#include "spool/config.hpp"

namespace mailqd {

namespace po = boost::program_options;

std::variant<DaemonOptions, int> parse_daemon_options(int argc, char** argv)
{
    po::options_description visible("Usage: mailqd [-c FILE] [--check-config] [--version] [--help]");
    visible.add_options()("config,c", po::value<std::string>()->value_name("FILE"),
                          "config file (default: $MAILQD_CONFIG, else /etc/mailqd/mailqd.conf)")(
        "check-config", "validate the config file, print its problems and exit (0 ok, 78 not)")(
        "version", "print the version and exit")("help,h", "print this help and exit");
    po::variables_map vm;
    try {
        // `mailqd --check-config FILE`: the file may also come as an operand.
        po::positional_options_description operand;
        operand.add("config", 1);
        po::store(po::command_line_parser(argc, argv).options(visible).positional(operand).run(), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << "mailqd: " << e.what() << "\n" << visible;
        return 64;
    }
    if (vm.count("help")) {
        std::cout << visible;
        return 0;
    }
    if (vm.count("version")) {
        std::cout << "mailqd " << MAILQD_VERSION << "\n";
        return 0;
    }
    DaemonOptions options;
    options.config =
        vm.count("config") ? std::filesystem::path(vm["config"].as<std::string>()) : default_config_path();
    options.check_config = vm.count("check-config") > 0;
    return options;
}

}  // namespace mailqd
