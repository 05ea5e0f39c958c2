# Debian 12 packages (see cmake/install-deps.sh, run by `make test` / `make run`).
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS program_options)
find_package(Eigen3 3.3 REQUIRED NO_MODULE)
find_package(OpenSSL REQUIRED)  # SHA-256 for `advlab digest`
set(HDF5_PREFER_PARALLEL OFF)
find_package(HDF5 REQUIRED COMPONENTS C)
find_path(RANDOM123_INCLUDE_DIR Random123/philox.h REQUIRED)
find_package(GTest REQUIRED)
find_package(benchmark REQUIRED)

# One interface target per third-party dependency; each folder links only the
# ones its sources include (the folder's advlab_<folder>_api target, see
# advlab_layer below), so that the build shows the layering.
add_library(advlab_random123 INTERFACE)  # header-only: Philox (sim/rng.h)
target_include_directories(advlab_random123 SYSTEM INTERFACE ${RANDOM123_INCLUDE_DIR})
add_library(advlab::random123 ALIAS advlab_random123)

add_library(advlab_eigen INTERFACE)      # header-only: policies/mlp.h
target_link_libraries(advlab_eigen INTERFACE Eigen3::Eigen)
add_library(advlab::eigen ALIAS advlab_eigen)

add_library(advlab_hdf5 INTERFACE)       # experiments/h5io.cc
target_include_directories(advlab_hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIRS})
target_link_libraries(advlab_hdf5 INTERFACE ${HDF5_C_LIBRARIES})
target_compile_definitions(advlab_hdf5 INTERFACE ${HDF5_DEFINITIONS})
add_library(advlab::hdf5 ALIAS advlab_hdf5)

add_library(advlab_boost_po INTERFACE)   # experiments/options.cc
target_link_libraries(advlab_boost_po INTERFACE Boost::program_options)
add_library(advlab::boost_po ALIAS advlab_boost_po)

add_library(advlab_openssl INTERFACE)    # experiments/h5io.cc (SHA-256)
target_link_libraries(advlab_openssl INTERFACE OpenSSL::Crypto)
add_library(advlab::openssl ALIAS advlab_openssl)

add_library(advlab_threads INTERFACE)    # experiments/sweep.cc (std::thread)
target_link_libraries(advlab_threads INTERFACE Threads::Threads)
add_library(advlab::threads ALIAS advlab_threads)

# MPI (optional): `mpirun -n N advlab sweep` (experiments/mpi_sweep.cc, linked
# into the advlab executable only). AUTO: when find_package finds it (Debian:
# openmpi-bin, libopenmpi-dev); ON: required; OFF: never. The C API only.
set(ADVLAB_MPI AUTO CACHE STRING "Distributed sweeps with MPI: AUTO (when found), ON or OFF")
set_property(CACHE ADVLAB_MPI PROPERTY STRINGS AUTO ON OFF)
set(ADVLAB_WITH_MPI OFF)
if(ADVLAB_MPI STREQUAL "AUTO")
  find_package(MPI COMPONENTS C QUIET)
  set(ADVLAB_WITH_MPI ${MPI_C_FOUND})
elseif(ADVLAB_MPI)
  find_package(MPI REQUIRED COMPONENTS C)
  set(ADVLAB_WITH_MPI ON)
endif()
if(ADVLAB_WITH_MPI)
  add_library(advlab_mpi INTERFACE)
  target_link_libraries(advlab_mpi INTERFACE MPI::MPI_C)
  target_compile_definitions(advlab_mpi INTERFACE OMPI_SKIP_MPICXX=1 MPICH_SKIP_MPICXX=1)
  add_library(advlab::mpi ALIAS advlab_mpi)
  message(STATUS "advlab: MPI sweeps on (${MPI_C_LIBRARIES})")
else()
  message(STATUS "advlab: MPI sweeps off (ADVLAB_MPI=${ADVLAB_MPI})")
endif()
