// Header-only; see include/CHeapStats.h.
