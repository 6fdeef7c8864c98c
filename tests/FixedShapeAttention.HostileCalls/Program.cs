using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;

namespace FixedShapeAttention.HostileCalls;

/// <summary>
/// Runs every hostile case in order, each announced on stdout before it runs ("CASE id member | variant") and
/// concluded after ("DONE id outcome"), so that when the process dies the parent knows which call killed it.
/// Arguments: <c>--skip id,id,…</c> (cases that crashed an earlier run), <c>--only id</c> (one case after the pool
/// fillers), <c>--through id</c> (the cases up to id), <c>--list</c> (print the cases, run none).
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        // Members that take a path (SaveCheckpoint, Safetensors.Write) get strings such as "hello world" as file names:
        // they write into a scratch directory of their own, never into the directory the child was started from.
        string scratch = Path.Combine(Path.GetTempPath(), "fsa-hostile-calls", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(scratch);
        Directory.SetCurrentDirectory(scratch);
        var skip = new HashSet<int>();
        int at = Array.IndexOf(args, "--skip");
        if (at >= 0 && at + 1 < args.Length)
        {
            skip.UnionWith(args[at + 1].Split(',', StringSplitOptions.RemoveEmptyEntries).Select(int.Parse));
        }

        // --only id: the case alone, after the cases that fill the instance pool; tells a call that crashes by
        // itself from one that only surfaced memory an earlier case corrupted.
        int only = Array.IndexOf(args, "--only") is int o && o >= 0 && o + 1 < args.Length ? int.Parse(args[o + 1]) : -1;
        // --through id: the cases up to id only; the parent bisects with it for the case that corrupted memory.
        int through = Array.IndexOf(args, "--through") is int t && t >= 0 && t + 1 < args.Length ? int.Parse(args[t + 1]) : int.MaxValue;
        bool listOnly = args.Contains("--list");
        var output = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false)) { AutoFlush = true };
        (List<HostileCase> cases, List<string> skipped) = Catalog.Build();
        output.WriteLine($"TOTAL {cases.Count} cases, {cases.Select(c => c.Member).Distinct().Count()} members");
        foreach (string reason in skipped)
        {
            output.WriteLine($"SKIPPED {reason}");
        }

        var pool = new InstancePool();
        foreach (HostileCase c in cases)
        {
            bool fillsPool = c.Member.Produces is Type produced && ValuePools.IsPooled(produced);
            if (c.Id > through || (only >= 0 && (c.Id > only || (c.Id < only && !fillsPool))))
            {
                continue;
            }

            if (listOnly || skip.Contains(c.Id))
            {
                if (listOnly)
                {
                    output.WriteLine($"CASE {c.Id} {c.Member.Name} | {c.Variant}");
                }

                continue;
            }

            output.WriteLine($"CASE {c.Id} {c.Member.Name} | {c.Variant}");
            long started = Stopwatch.GetTimestamp();
            string outcome = Run(c, pool);
            output.WriteLine($"DONE {c.Id} {outcome} ({Stopwatch.GetElapsedTime(started).TotalMilliseconds:F1} ms)");
        }

        // Heap corruption from a write out of bounds often shows only when the GC walks the heap: make it walk now,
        // while the cases that ran are the suspects.
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        output.WriteLine("END");
        return 0;
    }

    private static string Run(HostileCase c, InstancePool pool)
    {
        object? receiver = c.Receiver?.Make(pool);
        object?[] arguments = c.Arguments.Select(a => a.Make(pool)).ToArray();
        if (ReferenceEquals(receiver, ArgumentValue.Missing) || arguments.Any(a => ReferenceEquals(a, ArgumentValue.Missing)))
        {
            return "skipped (no such instance)";
        }

        if (c.Member.IsInstance && receiver is null && !c.Member.DeclaringType.IsByRefLike)
        {
            return "skipped (no receiver)";
        }

        try
        {
            object? result = c.Member.Invoke(receiver, arguments);
            if (result is not null && c.Member.Produces is not null)
            {
                pool.Add(result, c.Member.Context, c.Baseline);
            }

            return "returned";
        }
        catch (Exception ex)
        {
            return "threw " + ex.GetType().Name;
        }
    }
}
