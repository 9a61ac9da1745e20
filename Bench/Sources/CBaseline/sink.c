// The per-operation sink shared by both languages. Alone in its translation unit (and no LTO),
// so the callers cannot know it ignores the bytes: every result is stored in full before it.
#include "cbaseline.h"

static const void *volatile sink_value;
static volatile size_t sink_size;

void bench_sink(const void *value, size_t size) {
    sink_value = value;
    sink_size = size;
}
