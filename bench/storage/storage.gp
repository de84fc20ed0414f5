# SPDX-License-Identifier: MIT
# Plot of bench/storage: IOPS against queue depth (medians over rounds),
# one panel per workload, a line per system. The harness runs it as
#   gnuplot -e "datadir='D'; out='F.png'; rounds=N; ms=M" storage.gp
# with D holding {randread,randwrite,seqread,seqwrite}.dat (qd, then the
# IOPS of redleaf, native, io_uring, fio; NaN where not measured); run it
# the same way to re-plot from the files the harness left.
if (!exists("datadir")) datadir = '.'
if (!exists("out")) out = 'storage.png'
if (!exists("rounds")) rounds = 0
if (!exists("ms")) ms = 0

set terminal pngcairo size 1400,1000 font "DejaVu Sans,11" noenhanced
set output out
set multiplot layout 2,2 title sprintf("redleaf-lx storage: IOPS against queue depth (I/Os per batch; median of %d round(s), %d ms per cell)\n(a) stbench -> broker -> nvmedrv, (b) the driver library in one process, both on the NVMe model in RAM; (c) on a file", rounds, ms)
set grid xtics ytics lc rgb "#dddddd"
set key below horizontal
set logscale x 2
set logscale y 10
unset xlabel
set ylabel "IOPS"
set datafile missing "NaN"
set style line 1 lc rgb "#cc2222" lw 2 pt 7
set style line 2 lc rgb "#1f5fbf" lw 2 pt 5
set style line 3 lc rgb "#228833" lw 2 pt 9
set style line 4 lc rgb "#999999" lw 2 pt 11 dt 2

do for [w in "randread randwrite seqread seqwrite"] {
	set title w.(w[1:3] eq "seq" ? " (128 KiB I/Os)" : " (4 KiB I/Os)")
	plot datadir.'/'.w.'.dat' using 1:2 with linespoints ls 1 title "(a) redleaf", \
	     '' using 1:3 with linespoints ls 2 title "(b) native", \
	     '' using 1:4 with linespoints ls 3 title "(c) io_uring", \
	     '' using 1:5 with linespoints ls 4 title "(c) fio"
}
unset multiplot
