
ev.