
agg. x