#include "src/cli/cli.hpp"

int main(int argc, char** argv) { return depot::cli::run(argc, argv); }
