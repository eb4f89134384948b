
agg.m0.
agg.m1.
agg.m2.
agg.m3.
agg.m4.
agg.m5.
agg.m6.
agg.m7.
agg.m8.
agg.m9.
agg.m10.
agg.m11.
agg.m12.
agg.m13.
agg.m14.
agg.m15.
agg.m16.