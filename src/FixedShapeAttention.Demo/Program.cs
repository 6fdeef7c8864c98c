using System;
using FixedShapeAttention;
using FixedShapeAttention.Demo;

float[] x = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
var output = new float[12];
WorkedExample.Attention(x, x, x, output);
Console.WriteLine(string.Join(", ", output));
GenericKernels.Attention(WorkedExample.Shape, x, x, x, output);
Console.WriteLine(string.Join(", ", output));
