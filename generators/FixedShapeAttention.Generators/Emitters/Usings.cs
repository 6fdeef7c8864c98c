// The namespaces every emitter reads, once for the project: the emitters' own files then open with what sets each
// apart (its static imports), not with the same block of using directives.
global using System;
global using System.Collections.Generic;
global using System.Linq;
global using FixedShapeAttention.Generators.Infrastructure;
global using FixedShapeAttention.Generators.Model;
