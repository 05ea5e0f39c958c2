# Debian 12 packages (see scripts/install-deps.sh, run by `make test` / `make run`).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(OpenSSL REQUIRED)  # SHA-256 for `advlab digest`
set(HDF5_PREFER_PARALLEL OFF)
find_package(HDF5 REQUIRED COMPONENTS C)
find_path(RANDOM123_INCLUDE_DIR Random123/philox.h REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)

add_library(advlab_deps INTERFACE)
target_include_directories(advlab_deps SYSTEM INTERFACE ${RANDOM123_INCLUDE_DIR} ${HDF5_INCLUDE_DIRS})
target_link_libraries(advlab_deps INTERFACE
  Boost::program_options Eigen3::Eigen OpenSSL::Crypto ${HDF5_C_LIBRARIES} Threads::Threads)
target_compile_definitions(advlab_deps INTERFACE ${HDF5_DEFINITIONS})
