
agg.