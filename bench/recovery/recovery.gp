# SPDX-License-Identifier: MIT
# Plot of bench/recovery: throughput over time, per 10 ms bucket (not
# smoothed), reads above and writes below (the batched systems), each with
# and without crash injection; dashed vertical lines mark the crashes of the crash run.
# The harness runs it as
#   gnuplot -e "datadir='D'; out='F.png'; ymax_read=Y; ymax_write=Y; every='1s'; seconds=N; bucket_ms=10; batch=32" recovery.gp
# with D holding {read,write}-{nocrash,crash}.dat (t_s MB/s) and
# {read,write}-crashes.dat (t_s crash-number recovery-ms); run it the same
# way to re-plot from the files the harness left.
if (!exists("datadir")) datadir = '.'
if (!exists("out")) out = 'recovery.png'
if (!exists("every")) every = '1s'
if (!exists("bucket_ms")) bucket_ms = 10
if (!exists("batch")) batch = 1

set terminal pngcairo size 1400,900 font "DejaVu Sans,11" noenhanced
set output out
set multiplot layout 2,1 title sprintf("redleaf-lx recovery: ramblk crashed (SIGKILL) every %s behind a shadow; 4 KiB sequential I/O, %d block(s) per call, MB/s per %d ms bucket", every, batch, bucket_ms)
set grid ytics lc rgb "#dddddd"
set key outside right top vertical
set xlabel "time since the start of the window (s)"
set ylabel "MB/s (10^6 B/s)"
if (exists("seconds")) set xrange [0:seconds]
set style line 1 lc rgb "#999999" lw 1
set style line 2 lc rgb "#1f5fbf" lw 1
set style line 3 lc rgb "#cc2222" lw 1 dt 2

set title "reads"
if (exists("ymax_read")) set yrange [0:ymax_read]
plot datadir.'/read-nocrash.dat' using 1:2 with lines ls 1 title "no crashes", \
     datadir.'/read-crash.dat' using 1:2 with lines ls 2 title "crash every ".every, \
     datadir.'/read-crashes.dat' using 1:(0):(0):(ymax_read) with vectors nohead ls 3 title "crash"

set title "writes"
if (exists("ymax_write")) set yrange [0:ymax_write]
plot datadir.'/write-nocrash.dat' using 1:2 with lines ls 1 title "no crashes", \
     datadir.'/write-crash.dat' using 1:2 with lines ls 2 title "crash every ".every, \
     datadir.'/write-crashes.dat' using 1:(0):(0):(ymax_write) with vectors nohead ls 3 title "crash"
unset multiplot
