module udrbd

go 1.26
