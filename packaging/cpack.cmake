# packaging/cpack.cmake: the .deb packages, included at the end of the
# top-level CMakeLists.txt. One package per install component:
#
#   finsam-collector  (component collector)  the central collector and finsamctl
#   finsam-agent      (component agent)      the agent at each förbund
#
#   cmake -S . -B build && cmake --build build && cpack --config build/CPackConfig.cmake
#
# Depends: is what dpkg-shlibdeps finds in the binaries (the runtime
# libraries, never a compiler or Python), plus adduser for the maintainer
# scripts and tzdata (Europe/Stockholm). cmake/deps-runtime.txt lists the
# same set and tests/packaging/package_test keeps the two equal.
# The maintainer scripts are packaging/debian/PACKAGE/{postinst,prerm,postrm};
# the example configs under /etc are conffiles.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME finsam)
set(CPACK_PACKAGE_VENDOR "finsam")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL collector agent)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # finsam-collector_0.1.0_amd64.deb
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON) # as dh_strip; the build tree keeps the symbols
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(FINSAM_PACKAGE_MAINTAINER "finsam maintainers <finsam@example.se>"
    CACHE STRING "Maintainer: field of the .deb packages")
set(FINSAM_PACKAGE_HOMEPAGE "https://finsam.example.se/"
    CACHE STRING "Homepage: field of the .deb packages")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER ${FINSAM_PACKAGE_MAINTAINER})
set(CPACK_PACKAGE_HOMEPAGE_URL ${FINSAM_PACKAGE_HOMEPAGE})

# Each package carries its own manual dependencies; shlibdeps appends the
# libraries its binaries link.
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_NAME finsam-collector)
set(CPACK_DEBIAN_COLLECTOR_PACKAGE_DEPENDS "adduser, tzdata")
set(CPACK_COMPONENT_COLLECTOR_DESCRIPTION
    "Finsam core indicators: central collector and finsamctl
finsam collects the Finsam core indicators of the Swedish samordningsförbund.
finsam-collector authenticates each förbund's agent against an allow-list
(CurveZMQ), stores every pseudonymized event exactly once in LMDB, updates
the indicator cells in the same transaction and acknowledges only after the
commit. It publishes the indicators with disclosure control (cell-key
method) over an HTTP API, a dashboard and event streams.
finsamctl is the operator's command line: status per förbund and agent,
queries, exports, erasure, backups, migrations.
The package creates the system user finsam and /var/lib/finsam with the
collector's keys, and enables the unit finsam-collector.service.")

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME finsam-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser, tzdata")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "Finsam core indicators: agent at a förbund
finsam collects the Finsam core indicators of the Swedish samordningsförbund.
finsam-agent runs at each förbund: it imports survey answers and status
reports (CSV exports of survey tools, or JSON lines), pseudonymizes them at
the source with a keyed hash whose key never leaves the site, keeps them in
a durable LMDB outbox and delivers them to the collector over CurveZMQ until
they are acknowledged. Staff drop exports into a spool folder.
The package creates the system user finsam, /var/lib/finsam-agent and the
drop folder /var/spool/finsam-agent (group finsam-spool), and enables the
unit finsam-agent.service, which starts once the keys are in place.")

# Maintainer scripts and conffiles. The conffiles lists are generated so
# they follow the install paths.
set(_deb ${PROJECT_SOURCE_DIR}/packaging/debian)
foreach(comp collector agent)
  string(TOUPPER ${comp} COMP)
  set(_dir ${PROJECT_BINARY_DIR}/packaging/debian/${comp})
  file(WRITE ${_dir}/conffiles "${FINSAM_SYSCONFDIR}/finsam/${comp}.ini\n")
  set(CPACK_DEBIAN_${COMP}_PACKAGE_CONTROL_EXTRA
      ${_deb}/${comp}/postinst ${_deb}/${comp}/prerm ${_deb}/${comp}/postrm ${_dir}/conffiles)
endforeach()

include(CPack)
