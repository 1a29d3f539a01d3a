# Install layout (FHS) and the Debian package. Included from the top level.
include(GNUInstallDirs)

option(MAILQD_SENDMAIL_LINKS
  "Also install /usr/sbin/sendmail and /usr/bin/mailq links (replaces another MTA's)" OFF)

install(TARGETS mailqd RUNTIME DESTINATION ${CMAKE_INSTALL_SBINDIR})
install(TARGETS mailqctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# sendmail and mailq personalities: under libexec by default, so installing
# mailqd never takes over /usr/sbin/sendmail unless asked.
set(MAILQD_LIBEXEC ${CMAKE_INSTALL_LIBEXECDIR}/mailqd)
file(RELATIVE_PATH _ctl_from_libexec
  /${MAILQD_LIBEXEC} /${CMAKE_INSTALL_BINDIR}/mailqctl)
install(CODE "
  file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${MAILQD_LIBEXEC}\")
  foreach(name sendmail mailq)
    file(CREATE_LINK ${_ctl_from_libexec}
      \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${MAILQD_LIBEXEC}/\${name}\" SYMBOLIC)
  endforeach()")
if(MAILQD_SENDMAIL_LINKS)
  install(CODE "
    file(MAKE_DIRECTORY \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}\")
    file(CREATE_LINK ../${CMAKE_INSTALL_BINDIR}/mailqctl
      \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}/sendmail\" SYMBOLIC)
    file(CREATE_LINK mailqctl
      \"\$ENV{DESTDIR}\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/mailq\" SYMBOLIC)")
endif()

# systemd units, users and directories. The build tree's copy of the unit
# names the configured prefix; the installed one is made at install time, so
# that `cmake --install --prefix /usr` and cpack (prefix /usr) get
# ExecStart=/usr/sbin/mailqd whatever the build was configured with.
set(SBINDIR ${CMAKE_INSTALL_FULL_SBINDIR})
configure_file(${PROJECT_SOURCE_DIR}/systemd/mailqd.service
  ${PROJECT_BINARY_DIR}/systemd/mailqd.service @ONLY)
set(MAILQD_SYSTEMD_UNITDIR lib/systemd/system CACHE STRING "where the unit goes, under the prefix")
install(CODE "
  set(SBINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_SBINDIR}\")
  configure_file(\"${PROJECT_SOURCE_DIR}/systemd/mailqd.service\"
    \"${PROJECT_BINARY_DIR}/systemd/install/mailqd.service\" @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${MAILQD_SYSTEMD_UNITDIR}\"
    TYPE FILE FILES \"${PROJECT_BINARY_DIR}/systemd/install/mailqd.service\")")
install(FILES systemd/mailqd.sysusers DESTINATION lib/sysusers.d RENAME mailqd.conf)
install(FILES systemd/mailqd.tmpfiles DESTINATION lib/tmpfiles.d RENAME mailqd.conf)

# The example config becomes /etc/mailqd/mailqd.conf (a conffile in the .deb):
# an absolute /etc whatever the prefix, since the daemon, mailqctl and the
# unit all default to that path. Mode 0644, as Postfix's main.cf: every
# user's sendmail reads it to find the sockets; secrets live in files of
# their own (password_file), which the daemon refuses if others may read them.
set(MAILQD_CONFDIR /etc/mailqd CACHE PATH "where mailqd.conf is installed")
install(FILES conf/mailqd.conf DESTINATION ${MAILQD_CONFDIR}
  PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

install(FILES man/mailqd.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES man/mailqctl.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES man/mailqd.conf.5 DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)

# cpack -G DEB
set(CPACK_PACKAGE_NAME mailqd)
set(CPACK_PACKAGE_VENDOR "mailqd")
set(CPACK_PACKAGE_CONTACT "mailqd maintainers <root@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "durable mail queue daemon: SMTP relay client and POP3 fetcher")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# RelWithDebInfo binaries are ~150 MB with their debug info; ship them stripped.
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/packaging/debian/postinst
  ${PROJECT_SOURCE_DIR}/packaging/debian/prerm
  ${PROJECT_SOURCE_DIR}/packaging/debian/postrm
  ${PROJECT_SOURCE_DIR}/packaging/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
include(CPack)
