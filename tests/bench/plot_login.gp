# SPDX-License-Identifier: Apache-2.0
# plot_login.gp: the login path's latency distributions (CDFs), from the
# data files bench_pam writes into its CDF_DIR (one "microseconds
# fraction" line per cycle, sorted), side by side: the cycles in one
# process, and with a fork per cycle (as sshd runs it); each with the
# floor (a bare sendmsg of the same datagram).  run.sh calls it:
#
#   gnuplot -e "dir='build/bench/cdf'; out='build/bench/login-path.png'" \
#       tests/bench/plot_login.gp
set terminal pngcairo size 1400,560 font "sans,10"
set output out
set multiplot layout 1,2 title "pam\\_ftrack: session open + close, latency CDF (make bench, section 1)"
set logscale x
set xrange [1:100000]
set yrange [0:1]
set xlabel "microseconds (log scale)"
set ylabel "fraction of cycles at most this"
set grid xtics ytics mxtics
set key bottom right
set title "in one process (10,000 cycles a case, interleaved)"
plot dir."/floor.dat" using 1:2 with lines lw 2 lc rgb "black" title "(f) floor: bare sendmsg", \
     dir."/base.dat" using 1:2 with lines lw 2 lc rgb "#999999" title "(a) pam\\_permit only", \
     dir."/drained.dat" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "(b) + pam\\_ftrack, socket read", \
     dir."/stuck.dat" using 1:2 with lines lw 2 lc rgb "#ff7f0e" title "(c) + pam\\_ftrack, queue full (spool)", \
     dir."/nosock.dat" using 1:2 with lines lw 2 lc rgb "#2ca02c" title "(d) + pam\\_ftrack, no socket (spool)", \
     dir."/exec.dat" using 1:2 with lines lw 2 lc rgb "#d62728" title "(e) + pam\\_exec /bin/true"
set title "a fork per cycle, as sshd runs it (timed in the child)"
plot dir."/fork-floor.dat" using 1:2 with lines lw 2 lc rgb "black" title "(f) floor: bare sendmsg", \
     dir."/fork-base.dat" using 1:2 with lines lw 2 lc rgb "#999999" title "(a) pam\\_permit only", \
     dir."/fork-drained.dat" using 1:2 with lines lw 2 lc rgb "#1f77b4" title "(b) + pam\\_ftrack, socket read", \
     dir."/fork-stuck.dat" using 1:2 with lines lw 2 lc rgb "#ff7f0e" title "(c) + pam\\_ftrack, queue full (spool)", \
     dir."/fork-nosock.dat" using 1:2 with lines lw 2 lc rgb "#2ca02c" title "(d) + pam\\_ftrack, no socket (spool)"
unset multiplot
