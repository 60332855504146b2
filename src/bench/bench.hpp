// `depot bench`: an S3 load generator. Signs SigV4 and runs PUT/GET/HEAD/LIST/DELETE (or a
// mix) over N keep-alive connections against any S3 endpoint, then prints ops/s, MB/s and
// p50/p99 latency. `depot bench --help` lists the options.
#pragma once

namespace depot::bench {
int run_bench(int argc, char** argv);
}
