# Runs at install time (install(CODE …) in the top-level CMakeLists.txt), so a unit names the
# prefix it is installed under: /usr/bin for the packages (cpack), /usr/local/bin for a plain
# `cmake --install`. Honours DESTDIR. Prefix /usr (the packages): the unit in /lib/systemd/system
# and its flags file in /etc/default, where Debian 12 keeps them; any other prefix: both under
# it (<prefix>/lib/systemd/system, which systemd reads for /usr/local; <prefix>/etc/default).
# In: SKIFF_UNIT (e.g. skiff-master), SKIFF_SYSTEMD_SRC (this directory).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(unit_dir "/lib/systemd/system")
  set(SKIFF_DEFAULTS_DIR "/etc/default")
else()
  set(unit_dir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  set(SKIFF_DEFAULTS_DIR "${CMAKE_INSTALL_PREFIX}/etc/default")
endif()
set(SKIFF_BINDIR "${CMAKE_INSTALL_PREFIX}/bin")
set(unit "$ENV{DESTDIR}${unit_dir}/${SKIFF_UNIT}.service")
set(defaults "$ENV{DESTDIR}${SKIFF_DEFAULTS_DIR}/${SKIFF_UNIT}")
message(STATUS "Installing: ${unit}")
configure_file("${SKIFF_SYSTEMD_SRC}/${SKIFF_UNIT}.service.in" "${unit}" @ONLY)
# The flags file is the admin's (a conffile in the package): never overwritten once there.
if(EXISTS "${defaults}")
  message(STATUS "Up-to-date: ${defaults} (kept)")
else()
  message(STATUS "Installing: ${defaults}")
  configure_file("${SKIFF_SYSTEMD_SRC}/${SKIFF_UNIT}.default" "${defaults}" COPYONLY)
endif()
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${unit}" "${defaults}")
