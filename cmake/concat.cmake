# Concatenates the files IN (a ;-list, in order) into OUT (cmake -P
# script), each followed by a newline: the dashboard's app.js is its
# vendored chart modules followed by its own script (web/CMakeLists.txt).
file(WRITE ${OUT} "")
foreach(f IN LISTS IN)
  file(READ ${f} text)
  file(APPEND ${OUT} "${text}\n")
endforeach()
