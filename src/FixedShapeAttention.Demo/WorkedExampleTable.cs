using System;
using System.Globalization;
using System.Linq;

namespace FixedShapeAttention.Demo;

/// <summary>Prints the seed's worked example: the attention weights and the output of both kernels.</summary>
internal static class WorkedExampleTable
{
    private static readonly float[] s_x = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };

    public static void Print()
    {
        Console.WriteLine("Worked example: X = [[1,2,3],[4,5,6],[7,8,9],[10,11,12]], Q = K = V = X, one head");
        Console.WriteLine();
        Console.WriteLine("Attention weights softmax(Q·Kᵀ/√3), float64 (row = query token, column = key token):");
        Console.WriteLine($"{"",8}{"token 1",12}{"token 2",12}{"token 3",12}{"token 4",12}");
        for (int row = 0; row < 4; row++)
        {
            double[] weights = Weights(row);
            Console.Write($"{"token " + (row + 1),8}");
            foreach (double w in weights)
            {
                Console.Write(w.ToString("0.000000", CultureInfo.InvariantCulture).PadLeft(12));
            }

            Console.WriteLine();
        }

        var generated = new float[12];
        WorkedExample.Attention(s_x, s_x, s_x, generated);
        var generic = new float[12];
        GenericKernels.Attention(WorkedExample.Shape, s_x, s_x, s_x, generic);

        Console.WriteLine();
        Console.WriteLine("Attention output, row by row:");
        Console.WriteLine($"{"",8}{"generated (float32)",40}{"generic (float32)",40}");
        for (int row = 0; row < 4; row++)
        {
            Console.WriteLine($"{"token " + (row + 1),8}{Format(generated, row),40}{Format(generic, row),40}");
        }

        Console.WriteLine();
    }

    private static double[] Weights(int row)
    {
        var scores = new double[4];
        double max = double.NegativeInfinity, sum = 0;
        for (int key = 0; key < 4; key++)
        {
            double dot = 0;
            for (int c = 0; c < 3; c++)
            {
                dot += s_x[row * 3 + c] * (double)s_x[key * 3 + c];
            }

            scores[key] = dot / Math.Sqrt(3);
            max = Math.Max(max, scores[key]);
        }

        for (int key = 0; key < 4; key++)
        {
            scores[key] = Math.Exp(scores[key] - max);
            sum += scores[key];
        }

        for (int key = 0; key < 4; key++)
        {
            scores[key] /= sum;
        }

        return scores;
    }

    private static string Format(float[] values, int row) =>
        "[" + string.Join(", ", new[] { values[row * 3], values[row * 3 + 1], values[row * 3 + 2] }
            .Select(v => v.ToString("0.0000000", CultureInfo.InvariantCulture))) + "]";
}
