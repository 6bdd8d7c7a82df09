-- wrk script: every request sends the next body of a list, each thread starting at its own offset.
-- wrk ... -s cycle.lua URL -- METHOD LISTFILE   (LISTFILE: one body file path a line)
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

local bodies = {}
local index = 0

function init(args)
  wrk.method = args[1]
  for path in io.lines(args[2]) do
    local f = assert(io.open(path, "rb"))
    bodies[#bodies + 1] = f:read("*a")
    f:close()
  end
  index = ((tid or 0) * 997) % #bodies
end

function request()
  index = index % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[index])
end
