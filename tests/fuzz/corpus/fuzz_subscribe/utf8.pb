
ev.förbund