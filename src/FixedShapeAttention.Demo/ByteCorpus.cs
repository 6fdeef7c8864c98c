using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace FixedShapeAttention.Demo;

/// <summary>
/// The training text: this repository's own C# sources and Markdown, as bytes (a vocabulary of 256), so the demo
/// needs no download. Batches are windows at positions drawn from a seeded generator.
/// </summary>
internal sealed class ByteCorpus
{
    private readonly byte[] _bytes;

    private ByteCorpus(byte[] bytes, int files, string root)
    {
        _bytes = bytes;
        Files = files;
        Root = root;
    }

    public int Files { get; }

    public string Root { get; }

    public int Length => _bytes.Length;

    /// <summary>The repository's *.cs and *.md files under src/, generators/ and the top level, in path order.</summary>
    /// <exception cref="DirectoryNotFoundException">No FixedShapeAttention.sln above the current directory or the program.</exception>
    public static ByteCorpus FromRepository()
    {
        string root = FindRoot(Environment.CurrentDirectory) ?? FindRoot(AppContext.BaseDirectory)
            ?? throw new DirectoryNotFoundException("the train demo reads this repository's sources: run it inside a clone of FixedShapeAttention.");
        var files = new List<string>(Directory.GetFiles(root, "*.md"));
        foreach (string folder in new[] { "src", "generators" })
        {
            files.AddRange(Directory.EnumerateFiles(Path.Combine(root, folder), "*.*", SearchOption.AllDirectories)
                .Where(f => (f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".md", StringComparison.Ordinal))
                            && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                            && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)));
        }

        files.Sort(StringComparer.Ordinal);
        using var all = new MemoryStream();
        foreach (string file in files)
        {
            byte[] bytes = File.ReadAllBytes(file);
            all.Write(bytes);
        }

        return new ByteCorpus(all.ToArray(), files.Count, root);
    }

    /// <summary>The entropy of the corpus's byte frequencies, in nats: what a model that ignores context reaches.</summary>
    public double UnigramEntropy()
    {
        var counts = new long[256];
        foreach (byte b in _bytes)
            counts[b]++;
        return -counts.Where(c => c > 0).Sum(c => (double)c / _bytes.Length * Math.Log((double)c / _bytes.Length));
    }

    /// <summary>Fills <paramref name="tokens"/> with windows of <paramref name="length"/> bytes and
    /// <paramref name="targets"/> with the bytes that follow each.</summary>
    public void Sample(Random random, int length, int[] tokens, int[] targets)
    {
        for (int s = 0; s < tokens.Length / length; s++)
        {
            int start = random.Next(_bytes.Length - length - 1);
            for (int i = 0; i < length; i++)
            {
                tokens[s * length + i] = _bytes[start + i];
                targets[s * length + i] = _bytes[start + i + 1];
            }
        }
    }

    private static string? FindRoot(string start)
    {
        for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "FixedShapeAttention.sln")))
                return dir.FullName;
        }

        return null;
    }
}
