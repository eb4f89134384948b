
ev.NV.
agg.i7_steg.NV.