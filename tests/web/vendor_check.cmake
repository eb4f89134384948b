# vendor_check.cmake (cmake -P, -DDIR=web/dashboard): the chart modules
# committed in web/dashboard/vendor/ are the ones the lockfile names.
#
# vendor.sh installs package-lock.json with `npm ci` (npm checks every
# tarball against the lockfile's sha512 integrity), copies each module's
# dist/*.min.js and records in vendor/MANIFEST the module, version,
# lockfile integrity and the sha512 of the copied file. This check needs
# no network: every vendored file must hash to its MANIFEST line, that
# line's version and integrity must be the lockfile's for that module,
# a module package.json pins must be at that version, and no .js file in
# vendor/ may be missing from MANIFEST. A hand edit of a vendored file, or
# a lockfile change without running vendor.sh, fails here.
cmake_minimum_required(VERSION 3.19) # string(JSON), IN_LIST
file(READ ${DIR}/package-lock.json lock)
file(READ ${DIR}/package.json pkg)
file(STRINGS ${DIR}/vendor/MANIFEST lines)
set(listed)
set(failures 0)
foreach(line IN LISTS lines)
  if(line MATCHES "^#" OR line STREQUAL "")
    continue()
  endif()
  string(REPLACE " " ";" f "${line}")
  list(LENGTH f nf)
  if(NOT nf EQUAL 5)
    message(SEND_ERROR "MANIFEST: malformed line: ${line}")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()
  list(GET f 0 file)
  list(GET f 1 module)
  list(GET f 2 version)
  list(GET f 3 integrity)
  list(GET f 4 sha)
  list(APPEND listed ${file})
  if(NOT EXISTS ${DIR}/vendor/${file})
    message(SEND_ERROR "vendor/${file}: missing")
    math(EXPR failures "${failures} + 1")
    continue()
  endif()
  file(SHA512 ${DIR}/vendor/${file} got)
  if(NOT got STREQUAL sha)
    message(SEND_ERROR "vendor/${file}: sha512 ${got} is not MANIFEST's ${sha} (edited by hand? run vendor.sh)")
    math(EXPR failures "${failures} + 1")
  endif()
  string(JSON lock_version ERROR_VARIABLE e1 GET "${lock}" packages "node_modules/${module}" version)
  string(JSON lock_integrity ERROR_VARIABLE e2 GET "${lock}" packages "node_modules/${module}" integrity)
  if(NOT lock_version STREQUAL version OR NOT lock_integrity STREQUAL integrity)
    message(SEND_ERROR "vendor/${file}: MANIFEST says ${module} ${version} ${integrity}, "
                       "package-lock.json says ${lock_version} ${lock_integrity} (run vendor.sh)")
    math(EXPR failures "${failures} + 1")
  endif()
  string(JSON pinned ERROR_VARIABLE e3 GET "${pkg}" dependencies ${module})
  if(NOT e3 AND NOT pinned STREQUAL version)
    message(SEND_ERROR "package.json pins ${module} ${pinned}, vendored is ${version}")
    math(EXPR failures "${failures} + 1")
  endif()
  message(STATUS "ok ${module} ${version} ${file}")
endforeach()
file(GLOB present RELATIVE ${DIR}/vendor ${DIR}/vendor/*.js)
foreach(p IN LISTS present)
  if(NOT p IN_LIST listed)
    message(SEND_ERROR "vendor/${p}: not in MANIFEST")
    math(EXPR failures "${failures} + 1")
  endif()
endforeach()
list(LENGTH listed n)
if(n EQUAL 0)
  message(FATAL_ERROR "MANIFEST lists no file")
endif()
if(failures)
  message(FATAL_ERROR "vendor check: ${failures} failed")
endif()
message(STATUS "vendor check: ${n} files match MANIFEST and package-lock.json")
