import NASModels
